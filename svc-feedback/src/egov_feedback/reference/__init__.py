"""Reference data of svc-feedback: the categories, the communes and wards with their boundaries, and routing.

Pure code and data, no I/O beyond reading the packaged boundary file: the service seeds and serves from it.
"""
