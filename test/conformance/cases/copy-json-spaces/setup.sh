echo a > 'a file.txt'
echo b > 'b file.txt'
echo hello > hello.txt
