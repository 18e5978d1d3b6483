sed 's/$/\r/' Dockerfile > D
mv D Dockerfile
