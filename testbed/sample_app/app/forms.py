from wtforms import Form, StringField
from wtforms.validators import DataRequired, Email


class RegisterForm(Form):
    email = StringField("Email", validators=[DataRequired(), Email()])
