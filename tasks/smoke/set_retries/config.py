# Settings for the downloader.
MAX_RETRIES = 0
BACKOFF_SECONDS = 0.0
