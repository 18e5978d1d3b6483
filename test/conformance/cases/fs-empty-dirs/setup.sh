mkdir -p empty tree/a/b/c tree/private tree/sticky emptier
chmod 0700 tree/private; chmod 1777 tree/sticky; chmod 0711 empty
