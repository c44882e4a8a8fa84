import os
import tempfile

from chalice import Chalice

from chalicelib import media, people, speech, translation
from chalicelib.mailer import send_receipt

app = Chalice(app_name='clinic-portal')


@app.route('/profiles/{name}', methods=['PUT'])
def upload_profile(name):
    path = os.path.join(tempfile.gettempdir(), name)
    with open(path, 'wb') as fh:
        fh.write(app.current_request.raw_body)
    media.publish_profile(path, name)
    return {'ok': True}


@app.route('/badges/{who}', methods=['POST'])
def badge(who):
    media.store_badge(who, app.current_request.raw_body)
    return {'ok': True}


@app.route('/archive/{key}', methods=['POST'])
def archive(key):
    media.archive(key)
    return {'ok': True}


@app.route('/translate', methods=['POST'])
def translate():
    body = app.current_request.json_body
    text = translation.to_english(body['text'], body.get('sourceLanguage', 'auto'))
    return {'text': text, 'greeting': translation.greeting()}


@app.route('/speech', methods=['POST'])
def read_aloud():
    return {'task': speech.start(app.current_request.json_body['text'])}


@app.route('/staff/{name}', methods=['PUT'])
def add_staff(name):
    people.create_staff(name)
    send_receipt(name)
    return {'ok': True}
