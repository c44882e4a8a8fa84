import boto3

from chalicelib.config import ARCHIVE_BUCKET, MEDIA_BUCKET

_s3 = boto3.client('s3')
_bucket = boto3.resource('s3').Bucket(MEDIA_BUCKET)


def publish_profile(path, name):
    # public profile pictures: the ACL needs s3:PutObjectAcl too
    _s3.upload_file(path, MEDIA_BUCKET, 'profiles/' + name + '.png', ExtraArgs={'ACL': 'public-read'})


def store_badge(who, body):
    _bucket.put_object(Key=f'badges/{who}.svg', Body=body, ContentType='image/svg+xml',
                       Tagging='kind=badge')


def archive(key):
    _s3.copy_object(CopySource={'Bucket': MEDIA_BUCKET, 'Key': 'badges/' + key},
                    Bucket=ARCHIVE_BUCKET, Key='badges/' + key)
