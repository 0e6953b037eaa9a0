# Settings for the downloader.
MAX_RETRIES = 3
BACKOFF_SECONDS = 0.0
