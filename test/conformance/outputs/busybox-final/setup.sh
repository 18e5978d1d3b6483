printf 'x\n' > xattr.txt
setfattr -n user.kiln -v from-context xattr.txt
