import boto3

translate = boto3.client('translate')


def to_english(text, source_language):
    # source_language is 'auto' unless the client names it: Translate then asks Comprehend
    resp = translate.translate_text(Text=text, SourceLanguageCode=source_language, TargetLanguageCode='en')
    return resp['TranslatedText']


def greeting():
    resp = translate.translate_text(Text='Bonjour', SourceLanguageCode='fr', TargetLanguageCode='en')
    return resp['TranslatedText']
