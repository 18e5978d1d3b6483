# The context, with modes that do not depend on the checkout's umask.
mkdir -p x y pkgs/p1 pkgs/p2 foo1/foo2 src/app/lib src/other
printf 'xa\n' > x/a.txt; printf 'ya\n' > y/a.txt
printf 'p1\n' > pkgs/p1/package.json; printf 'p2\n' > pkgs/p2/package.json; printf 'i\n' > pkgs/p2/index.js
printf 'testing\n' > foo1/foo2/bar; printf 'testing2\n' > foo1/foo2/baz; printf 'o\n' > foo1/foo2/other
printf 'm\n' > src/app/main.js; printf 'u\n' > src/app/lib/util.js; printf 'o\n' > src/other/o.js
find . -type f -exec chmod 0644 {} +
chmod 0600 y/a.txt
find . -mindepth 1 -type d -exec chmod 0750 {} +
chmod 0700 foo1 foo1/foo2
chmod 0711 src/app
