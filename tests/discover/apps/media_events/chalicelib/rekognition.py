class RekognitionClient(object):
    def __init__(self, boto3_client):
        self._client = boto3_client

    def get_image_labels(self, bucket, key):
        response = self._client.detect_labels(Image={"S3Object": {"Bucket": bucket, "Name": key}}, MinConfidence=50.0)
        return [label["Name"] for label in response["Labels"]]
