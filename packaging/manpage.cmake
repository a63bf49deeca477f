# cmake -DIN=docs/fieldsync.1 -DOUT=fieldsync.1 -DVERSION=x.y.z -P manpage.cmake
# Writes the man page with the project's version in its .TH line, so the installed page says
# the version the binary says (the source's own .TH is for reading it in the checkout).
file(READ "${IN}" page)
string(REGEX REPLACE "(\n\\.TH [^\n]*)\"fieldsync [^\"]*\"" "\\1\"fieldsync ${VERSION}\"" page
       "${page}")
if(NOT page MATCHES "\n\\.TH [^\n]*\"fieldsync ${VERSION}\"")
  message(FATAL_ERROR "${IN}: no .TH line with \"fieldsync VERSION\" to set")
endif()
file(WRITE "${OUT}" "${page}")
