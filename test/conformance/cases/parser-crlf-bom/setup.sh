printf '\357\273\277' > D
sed 's/$/\r/' Dockerfile >> D
mv D Dockerfile
