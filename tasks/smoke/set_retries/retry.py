import time

import config


def call_with_retries(func):
    """Call func(); if it raises, retry up to config.MAX_RETRIES more times."""
    attempts = 0
    while True:
        try:
            return func()
        except Exception:
            attempts += 1
            if attempts > config.MAX_RETRIES:
                raise
            time.sleep(config.BACKOFF_SECONDS)
