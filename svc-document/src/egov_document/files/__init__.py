"""Files: storage, upload, scanning and who may read them."""
