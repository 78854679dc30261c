"""Sending issued documents to other agencies and receiving theirs: inside the deployment, or as edXML."""
