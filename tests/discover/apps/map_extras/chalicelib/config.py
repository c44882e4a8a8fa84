import os

MEDIA_BUCKET = os.environ['MEDIA_BUCKET']
ARCHIVE_BUCKET = os.environ.get('ARCHIVE_BUCKET', 'clinic-archive')
# Keys of a separate mail account: only set where mail goes through it (never in dev)
MAIL_KEY_ID = os.getenv('MAIL_KEY_ID')
MAIL_SECRET = os.getenv('MAIL_SECRET')
