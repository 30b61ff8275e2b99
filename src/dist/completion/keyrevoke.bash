# bash completion for keyrevoke (installed as share/bash-completion/completions/keyrevoke).
# The option lists must name exactly the options of `keyrevoke --help`, `keyrevoke list --help` and
# `keyrevoke report --help`: tests/integration/test_install.py compares them.

_keyrevoke_run_opts='--help -h --version --config --base-url --cacert --key-file --report --resume --force
  --no-lock --allow-empty --concurrency --rate --max-attempts --timeout --give-up-after --dry-run --progress
  --allow-insecure-http --quiet -q --disable --enable --verify --protect --plan --confirm --shard
  --verbose -v --trace --summary-json --metrics-file --proxy --noproxy --proxy-user-file --connect-to --resolve'
_keyrevoke_list_opts='--help -h --version --config --json --base-url --cacert --key-file --rate --max-attempts --timeout
  --allow-insecure-http --quiet -q --name --label --created-before --created-after --updated-before
  --updated-after --disabled --enabled --usage-above --usage-below --proxy --noproxy --proxy-user-file --connect-to --resolve'
_keyrevoke_report_opts='--help -h --format'

_keyrevoke() {
  local cur prev words cword
  _init_completion -n = || return

  local command=run i
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      list | report) ((i == 1)) && command=${words[i]} ;;
    esac
  done

  # A value after an option that takes one.
  case $prev in
    --config | --cacert | --key-file | --report | --protect | --trace | --summary-json | --metrics-file | \
      --proxy-user-file)
      _filedir
      return ;;
    --progress)
      COMPREPLY=($(compgen -W 'auto always never' -- "$cur"))
      return ;;
    --format)
      COMPREPLY=($(compgen -W 'text markdown csv json' -- "$cur"))
      return ;;
    --base-url | --concurrency | --rate | --max-attempts | --timeout | --give-up-after | --confirm | --shard | \
      --name | --label | --created-before | --created-after | --updated-before | --updated-after | \
      --usage-above | --usage-below | --proxy | --noproxy | --connect-to | --resolve)
      return ;;
  esac

  if [[ $cur == -* ]]; then
    local opts_var=_keyrevoke_${command}_opts
    COMPREPLY=($(compgen -W "${!opts_var}" -- "$cur"))
    return
  fi
  if ((cword == 1)); then
    COMPREPLY=($(compgen -W 'list report' -- "$cur"))
  fi
  [[ $command == list ]] && return  # list takes no arguments
  _filedir
}
complete -F _keyrevoke keyrevoke
