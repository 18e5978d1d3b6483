echo s > secret.txt
echo secret.txt > .dockerignore
