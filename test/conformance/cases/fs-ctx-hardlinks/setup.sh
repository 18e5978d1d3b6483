mkdir -p h/sub dir
echo a > h/a; ln h/a h/b; ln h/a h/sub/c; ln h/a outside-link; ln h/a h/ignored-link
echo x > x; ln x dir/y
chmod 0755 h/a
printf 'h/ignored-link\n' > .dockerignore
