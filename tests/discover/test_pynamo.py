"""PynamoDB models (`_pynamo`): the model's methods are DynamoDB calls on its Meta.table_name."""

from __future__ import annotations

from pathlib import Path

from canary.discover._analyzer import analyze
from canary.discover._stage import lambda_env

from tests.discover._project import shown, write

APPS = Path(__file__).parent / "apps"


def _calls(root: Path, env: dict[str, str] | None = None) -> set[tuple[int, str, str, str]]:
    """(line, operation, via, table[/index]) for every call."""
    out = set()
    for c in analyze(root, env or {})[0]:
        params = {n: sorted(shown(a) for a in alts) for n, alts in c.params}
        where = "|".join(params["TableName"]) + "".join(f"/index/{i}" for i in params.get("IndexName", []))
        out.add((c.line, c.operation, c.via, where))
    return out


def test_the_sample_models_map_to_the_operations_pynamodb_sends_on_the_stage_table() -> None:
    env = lambda_env(APPS / "pynamo_models", "prod")
    assert _calls(APPS / "pynamo_models", env) == {
        (11, "PutItem", "pynamodb User().save", "${USERS_TABLE}"),
        (17, "GetItem", "pynamodb User.get", "${USERS_TABLE}"),
        (17, "DeleteItem", "pynamodb User().delete", "${USERS_TABLE}"),
        (24, "Query", "pynamodb User.by_hour.query", "${USERS_TABLE}/index/hour-index"),
        (25, "BatchWriteItem", "pynamodb Reminder.batch_write().save", "reminders"),
    }


def test_a_project_method_of_a_model_is_not_a_dynamodb_call_and_plain_classes_are_untouched(tmp_path: Path) -> None:
    root = write(tmp_path, {"app.py": """
        from pynamodb.models import Model

        class Base(Model):
            class Meta:
                table_name = "things"

            def save(self):  # the project's own save wins
                return None

        class Thing(Base):
            pass

        class NotAModel:
            def query(self):
                return []

        Thing().save()
        Thing.scan()
        Thing.exists()
        NotAModel().query()
        """})
    assert _calls(root) == {(19, "Scan", "pynamodb Thing.scan", "things"),
                            (20, "DescribeTable", "pynamodb Thing.exists", "things")}


def test_a_service_base_class_reaches_each_subclass_model_and_a_loop_over_models_reaches_each(tmp_path: Path) -> None:
    # the style of a generic service whose subclasses set `model = SomeTable` (seen in public PynamoDB apps)
    root = write(tmp_path, {"app.py": """
        from pynamodb.models import Model

        class Orders(Model):
            class Meta:
                table_name = "orders"

        class Users(Model):
            class Meta:
                table_name = "users"

        class BaseService(object):
            model = None

            @classmethod
            def remove(cls, key):
                cls.model.get(key).delete()

        class OrderService(BaseService):
            model = Orders

        for table in [Orders, Users]:
            if not table.exists():
                table.create_table(wait=True)

        OrderService.remove("k")
        """})
    assert _calls(root) == {(17, "GetItem", "pynamodb Orders.get", "orders"),
                            (17, "DeleteItem", "pynamodb Orders().delete", "orders"),
                            # the loop calls both: two calls, each on its own table
                            (23, "DescribeTable", "pynamodb Orders.exists", "orders"),
                            (23, "DescribeTable", "pynamodb Users.exists", "users"),
                            (24, "CreateTable", "pynamodb Orders.create_table", "orders"),
                            (24, "CreateTable", "pynamodb Users.create_table", "users")}
