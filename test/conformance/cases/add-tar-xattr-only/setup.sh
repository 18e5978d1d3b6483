mkdir -p s
echo x > s/xattr.txt
setfattr -n user.kiln -v from-tar s/xattr.txt
chmod 0644 s/xattr.txt
tar --xattrs --xattrs-include='user.*' --numeric-owner --owner=0 --group=0 -C s -cf x.tar xattr.txt
rm -rf s
