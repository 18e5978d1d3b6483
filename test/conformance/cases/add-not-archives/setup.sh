printf 'plain\n' | gzip -n > plain.gz
: > empty.tar
head -c 1024 /dev/zero > zeros.tar
echo x > x; tar -cf full.tar x; head -c 100 full.tar > short.tar; rm -f full.tar x
