# bash completion for fieldsync(1): commands, subcommands, each command's options, option
# values with a fixed set (--format, --role, --log-level), peer names from `fieldsync peers
# list`, release names from `fieldsync release list`, and paths where a file or folder goes.
# Installed as share/bash-completion/completions/fieldsync; works without the bash-completion
# package too (`source completions/fieldsync.bash`). Kept in step with the binary by
# tests/package/completion_test.sh.

# Options that take a value (the next word, or after "=").
_fieldsync_takes_value() {
  case "$1" in
    --home | --passphrase-file | --name | --format | --tag | --title | --source | --author | \
      --date | --url | --language | --collection | --since | --limit | --role | --until | \
      --reason | --since-release | --ids | --notes | --out | --interval | --max-backoff | \
      --rate | --daily-budget | --for | --trust | --key | --connect-timeout | --listen | \
      --log-level | --address | --signer | --password-file)
      return 0
      ;;
  esac
  return 1
}

# The subcommands of a command that has them; nothing for the others.
_fieldsync_subcommands() {
  case "$1" in
    keys) echo "trust untrust list certify revoke export-minisign" ;;
    release) echo "create list show export" ;;
    peers) echo "add set list remove forgive" ;;
    bundle) echo "export import verify list" ;;
    config) echo "show check apply" ;;
  esac
}

# The options of "COMMAND [SUBCOMMAND]", besides --help and the global ones.
_fieldsync_command_options() {
  case "$1" in
    init) echo "--name --coordinator --json" ;;
    id | status) echo "--json" ;;
    show) echo "--original --json" ;;
    "config check" | "config apply") echo "--json" ;;
    "config show") echo "--json --listen --dial --no-dial --beacon --no-beacon --log-level" ;;
    import) echo "--format --tag --json" ;;
    add) echo "--title --source --author --date --url --tag --language --collection --json" ;;
    list) echo "--tag --source --since --limit --trusted --original --json" ;;
    search) echo "--limit --trusted --original --json" ;;
    verify) echo "--all --verbose -v --json" ;;
    "keys trust") echo "--role --name --json" ;;
    "keys untrust" | "peers remove" | "peers forgive" | resume) echo "--json" ;;
    "keys list" | "release list" | "release show" | "peers list") echo "--json" ;;
    "keys certify") echo "--role --name --until --json" ;;
    "keys revoke") echo "--since --reason --json" ;;
    retract) echo "--reason --signer --since --json" ;;
    annotate) echo "--title --tag --untag --duplicate-of --not-duplicate --reason --json" ;;
    "release create") echo "--tag --since-release --ids --notes --include-untrusted --json" ;;
    "release export") echo "--out --json" ;;
    "peers add") echo "--key --address --interval --max-backoff --rate --daily-budget --json" ;;
    "peers set")
      echo "--address --no-address --interval --max-backoff --rate --daily-budget --json"
      ;;
    "bundle export") echo "--all --since-release --tag --for --holdings --json" ;;
    "bundle import" | "bundle list") echo "--json" ;;
    "bundle verify") echo "--trust --verbose -v --json" ;;
    sync) echo "--key --connect-timeout --json" ;;
    serve) echo "--listen --dial --no-dial --beacon --no-beacon --log-level" ;;
    pause) echo "--for --json" ;;
    web) echo "--listen --password-file" ;;
  esac
}

# Runs fieldsync as the command line being completed names it (its program and --home).
_fieldsync_run() {
  local program=${COMP_WORDS[0]}
  [[ $program == \~/* ]] && program=$HOME/${program#\~/}
  "$program" "${_fieldsync_home[@]}" "$@" 2>/dev/null
}

# Listed peers' names: the lines of `peers list` that start with NAME tcp://... or, for a
# peer reached only by stick, NAME (stick only).
_fieldsync_peer_names() {
  local name address rest
  while read -r name address rest; do
    [[ $address == tcp://* || $address == "(stick" ]] && printf '%s\n' "$name"
  done < <(_fieldsync_run peers list)
}

# Release names: the first word of `release list`, NAME@SEQ, without @SEQ.
_fieldsync_release_names() {
  local first rest
  while read -r first rest; do
    [[ $first == *@* ]] && printf '%s\n' "${first%@*}"
  done < <(_fieldsync_run release list)
}

_fieldsync_files() {
  if declare -F _filedir >/dev/null; then
    _filedir "$@"
    return
  fi
  compopt -o filenames 2>/dev/null
  if [[ ${1-} == -d ]]; then
    mapfile -t COMPREPLY < <(compgen -d -- "$cur")
  else
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  fi
}

_fieldsync_words() {
  mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur")
}

_fieldsync() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  local prev=${COMP_WORDS[COMP_CWORD - 1]}
  COMPREPLY=()

  # "--opt=value": bash splits it at "=" (COMP_WORDBREAKS), so the option is two words back.
  if [[ $prev == "=" ]] && ((COMP_CWORD >= 2)); then
    prev=${COMP_WORDS[COMP_CWORD - 2]}
  elif [[ $cur == "=" ]]; then
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    cur=""
  fi

  # The command and subcommand so far, skipping options and their values; --home is kept
  # so that peer and release names come from the node being worked on.
  local cmd="" sub="" word i positionals=0
  local -a _fieldsync_home=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    if [[ $word == -* ]]; then
      if _fieldsync_takes_value "$word" && ((i + 1 < COMP_CWORD)); then
        if [[ ${COMP_WORDS[i + 1]} == "=" ]]; then
          ((i++))
        fi
        [[ $word == --home ]] && _fieldsync_home=(--home "${COMP_WORDS[i + 1]}")
        ((i++))
      fi
    elif [[ $word == "=" ]]; then
      :
    elif [[ -z $cmd ]]; then
      cmd=$word
    elif [[ -z $sub && -n $(_fieldsync_subcommands "$cmd") ]]; then
      sub=$word
    else
      ((positionals++))
    fi
  done
  local path=$cmd${sub:+ $sub}

  # The value of an option.
  if [[ $prev == -* ]] && _fieldsync_takes_value "$prev"; then
    case "$prev" in
      --home | --out) _fieldsync_files -d ;;
      --passphrase-file | --ids | --password-file) _fieldsync_files ;;
      --format) _fieldsync_words "digest markdown jsonl email html feed pdf" ;;
      --role) _fieldsync_words "coordinator field" ;;
      --log-level) _fieldsync_words "error warn info debug" ;;
      --since-release) _fieldsync_words "$(_fieldsync_release_names)" ;;
      --for) [[ $path == "bundle export" ]] && _fieldsync_words "$(_fieldsync_peer_names)" ;;
      --listen)
        if [[ $path == web ]]; then
          _fieldsync_words "127.0.0.1:7480 0.0.0.0:7480 [::1]:7480"
        else
          _fieldsync_words "tcp://0.0.0.0:7420 tcp://[::]:7420 tcp://127.0.0.1:7420"
        fi
        ;;
    esac
    return 0
  fi

  if [[ $cur == -* ]]; then
    local options="--help -h --home --passphrase-file --quiet -q"
    [[ -z $cmd ]] && options+=" --version"
    [[ -n $cmd ]] && options+=" $(_fieldsync_command_options "$path")"
    _fieldsync_words "$options"
    return 0
  fi

  if [[ -z $cmd ]]; then
    _fieldsync_words "init id config import add list show search verify keys release retract
      annotate peers bundle sync serve status pause resume web"
    return 0
  fi
  local subs
  subs=$(_fieldsync_subcommands "$cmd")
  if [[ -n $subs && -z $sub ]]; then
    _fieldsync_words "$subs"
    return 0
  fi

  case "$path" in
    import | add | "bundle export" | "bundle import" | "bundle verify" | "bundle list")
      _fieldsync_files
      ;;
    sync | "peers set" | "peers remove" | "peers forgive")
      ((positionals == 0)) && _fieldsync_words "$(_fieldsync_peer_names)"
      ;;
    "release show" | "release export" | "release create")
      ((positionals == 0)) && _fieldsync_words "$(_fieldsync_release_names)"
      ;;
  esac
  return 0
}

complete -F _fieldsync fieldsync
