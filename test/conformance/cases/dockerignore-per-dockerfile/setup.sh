echo a > a.txt; echo b > b.txt; echo c > c.txt
printf 'a.txt\n' > .dockerignore
printf 'b.txt\n' > Dockerfile.dockerignore
