-- Run once by the postgres image on an empty data directory: one database per service (DESIGN.md section 2).
CREATE DATABASE egov_identity;
CREATE DATABASE egov_dossier;
CREATE DATABASE egov_payment;
CREATE DATABASE egov_feedback;
CREATE DATABASE egov_document;
