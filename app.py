"""The standalone permission canary: a Chalice app holding only the canary blueprint.

Deploy it next to your API with the API's own role (`.chalice/config.json`: "manage_iam_role":
false, "iam_role_arn": the API's role). To embed the canary in the API itself instead, add the
same `register_blueprint` line to the API's app.py (see docs/deploy.md).
"""

from chalice import Chalice

from canary.blueprint import canary_blueprint

app = Chalice(app_name="permission-canary")
app.register_blueprint(canary_blueprint)
