-- The server's version as a number: 160004 for 16.4, 180003 for 18.3.
SELECT current_setting('server_version_num')::integer
