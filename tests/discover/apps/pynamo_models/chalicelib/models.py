import os

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


class HourIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "hour-index"
        projection = AllProjection()

    hour = NumberAttribute(hash_key=True)


class User(Model):
    class Meta:
        table_name = os.environ.get("USERS_TABLE", "reminders-users-local")
        region = "eu-west-1"

    phone = UnicodeAttribute(hash_key=True)
    hour = NumberAttribute(default=9)
    by_hour = HourIndex()

    def greeting(self):
        return "hello " + self.phone


class Reminder(Model):
    class Meta:
        table_name = "reminders"

    phone = UnicodeAttribute(hash_key=True)
    text = UnicodeAttribute()
