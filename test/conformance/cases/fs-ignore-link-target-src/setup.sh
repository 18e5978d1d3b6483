echo s > secret.txt; ln -s secret.txt link
printf 'secret.txt\n' > .dockerignore
