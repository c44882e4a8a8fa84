"""Pass 1 (`_parse`): which files are read and which names each scope binds."""

from __future__ import annotations

import ast
from pathlib import Path

from canary.discover._parse import Scope, bound_names, project_files

from tests.discover._project import by_operation, write


def _locals(source: str) -> set[str]:
    func = ast.parse(source).body[0]
    assert isinstance(func, ast.FunctionDef)
    scope = Scope("function", None, None)  # type: ignore[arg-type]
    bound_names(func.body, scope)
    return scope.locals


def test_assigning_to_an_attribute_or_item_does_not_make_the_object_local() -> None:
    assert _locals("def f():\n    Cls.client = 1\n    cache['k'] = 2\n    a, (b, *c) = x\n") == {"a", "b", "c"}


def test_a_class_attribute_set_from_a_method_is_followed(tmp_path: Path) -> None:
    # the style of a lazily created client kept on the class (seen in public S3 helpers)
    write(tmp_path, {"app.py": """
        import boto3

        class S3File:
            _client = None

            def __init__(self, bucket):
                if not S3File._client:
                    S3File._client = boto3.client("s3")
                self.bucket = bucket

            def read(self):
                return S3File._client.get_object(Bucket="photos", Key="k")
        """})
    assert by_operation(tmp_path) == {"GetObject": {"Bucket": {"photos"}, "Key": {"k"}}}


def test_top_level_project_modules_next_to_app_py_are_read(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": "from storage import save\n", "storage.py": "import boto3\n",
                     "unused.py": "import boto3\nboto3.client('sqs').send_message(QueueUrl='q', MessageBody='')\n"})
    assert [m.rel for m in project_files(tmp_path)] == ["app.py", "storage.py"]


def test_an_imported_project_package_is_read_whole_for_modules_loaded_by_name(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": "from checks import registry\n",
                     "checks/__init__.py": "", "checks/registry.py": "import importlib\n",
                     "checks/disk.py": "import boto3\nboto3.client('ec2').describe_volumes()\n",
                     "checks/py2_script.py": "print 'old'\n",  # never imported: skipped, not fatal
                     "checks/tests/test_disk.py": "import boto3\n"})
    assert [m.rel for m in project_files(tmp_path)] == ["app.py", "checks/__init__.py", "checks/disk.py",
                                                        "checks/registry.py"]


def test_modules_under_chalicelib_are_found_by_their_own_names_when_it_is_put_on_sys_path(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": "import sys\nsys.path.insert(0, 'chalicelib')\nfrom models.user import save\nsave()\n",
                     "chalicelib/models/__init__.py": "",
                     "chalicelib/models/user.py": """
                         import boto3
                         def save():
                             boto3.client("sqs").send_message(QueueUrl="q", MessageBody="")
                         """})
    assert by_operation(tmp_path) == {"SendMessage": {"QueueUrl": {"q"}}}
