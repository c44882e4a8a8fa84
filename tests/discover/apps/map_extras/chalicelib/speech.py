import boto3

SPEECH_BUCKET = 'clinic-speech'

polly = boto3.client('polly')


def start(text):
    task = polly.start_speech_synthesis_task(Text=text, VoiceId='Joanna', OutputFormat='mp3',
                                             OutputS3BucketName=SPEECH_BUCKET, OutputS3KeyPrefix='speech/')
    return task['SynthesisTask']['TaskId']
