from relasi.cli import app

app()
