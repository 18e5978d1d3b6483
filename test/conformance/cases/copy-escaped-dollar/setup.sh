printf 'dollar\n' > 'dollar$name.txt'
