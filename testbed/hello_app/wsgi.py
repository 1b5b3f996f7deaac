from hello import create_app

app = create_app()
