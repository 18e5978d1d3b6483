# Empty files and directories and hardlinks are not kept by git: made here.
mkdir -p empty-dir linked
: > empty.txt
echo one > linked/one
ln linked/one linked/one-hardlink
ln linked/one linked/another
