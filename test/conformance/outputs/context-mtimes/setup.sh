mkdir -p tree/sub tree/empty
printf 'a\n' > tree/a.txt
printf 'b\n' > tree/sub/b.txt
printf 'c\n' > tree/sub/c.txt
ln -s a.txt tree/link
touch -d '2020-01-01 00:00:00.300000000 UTC' tree/a.txt
touch -d '2020-01-01 00:00:00.700000000 UTC' tree/sub/b.txt
touch -d '2020-01-01 00:00:00.500000000 UTC' tree/sub/c.txt
touch -h -d '2020-01-01 00:00:01.900000000 UTC' tree/link
touch -d '2019-06-01 12:00:00.600000000 UTC' tree/sub tree/empty
