# Turn a text file into a C string constant (no external tools needed).
file(READ ${IN} content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${content}")
file(WRITE ${OUT} "/* generated from ${IN}; do not edit */\nstatic const char dedup_hook_script[] = {${bytes} 0x00};\n")
