# The context, with modes that do not depend on the checkout's umask.
mkdir -p app/sub app/tmp
printf 'main\n' > app/main.js; printf 'readme\n' > app/README.md; printf 'changes\n' > app/CHANGES.md
printf 'notes\n' > app/notes.txt; printf 'xmd\n' > app/sub/x.md; printf 'xjs\n' > app/sub/x.js; printf 't\n' > app/tmp/t.txt
find . -type f -exec chmod 0644 {} +
find . -mindepth 1 -type d -exec chmod 0750 {} +
