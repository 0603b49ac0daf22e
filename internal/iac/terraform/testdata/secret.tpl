leaked=${port}
