# Passwords Sentinel generates for platform accounts (sys/policies/password/<name>).
# 32 characters from all four classes: strong for every platform we know, and
# without quotes or backslashes that some login forms mangle.
length = 32

rule "charset" {
  charset   = "abcdefghijklmnopqrstuvwxyz"
  min-chars = 2
}

rule "charset" {
  charset   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
  min-chars = 2
}

rule "charset" {
  charset   = "0123456789"
  min-chars = 2
}

rule "charset" {
  charset   = "!#%*+-=?@^_~"
  min-chars = 2
}
