# bash completion for pcaplens                              -*- shell-script -*-
# Installed as share/bash-completion/completions/pcaplens.

_pcaplens_kinds()
{
    pcaplens --list-anomalies 2>/dev/null | awk '{print $1}'
}

_pcaplens()
{
    local cur prev words cword
    _init_completion -n = || return

    local report_opts="-r --read -f --filter -c --count --verify-checksums
        --format -o --output --timeline --color -q --quiet -v --verbose --list-anomalies
        --conn --host --port --only-anomalous --http-only
        --follow --follow-format --fail-on
        --idle-timeout --msl --close-linger --max-connections --max-memory-mb --max-buffer-mb
        --max-direction-buffer-mb --max-anomalies
        --no-http --http-max-header-bytes --http-max-headers --http-max-pipeline --http-slow-ms
        -i --interface -D --list-interfaces -s --snapshot-length -p --no-promiscuous-mode
        --no-immediate-mode -B --buffer-size --duration -w --write -C --file-size
        -Z --relinquish-privileges -V --version -h --help"
    local check_opts="-r --read -f --filter -c --count --verify-checksums
        --rules --fail-on --fail-on-severity --allow --max --max-handshake-rtt-ms
        --max-retransmission-rate --no-unanswered-syns --no-refused --no-resets
        --no-resets-after-established --all-closed-gracefully --allow-open
        --max-time-wait-reuse --max-total-connections --max-http-5xx --max-http-5xx-rate
        --max-http-4xx --max-http-4xx-rate --http-allow-status --max-ttfb-ms
        --max-http-duration-ms --all-requests-answered --expect-transactions
        --server --server-port --http-host --http-uri-prefix --http-method
        --format -o --output --junit --annotations --annotate-passing --max-evidence --color
        --idle-timeout --msl --close-linger --max-connections --max-memory-mb --max-buffer-mb
        --max-direction-buffer-mb --max-anomalies
        --no-http --http-max-header-bytes --http-max-headers --http-max-pipeline --http-slow-ms
        -h --help"

    local check=0 i
    for ((i = 1; i < cword; i++)); do
        [[ ${words[i]} == check ]] && { check=1; break; }
        [[ ${words[i]} != -* ]] && break
    done

    case $prev in
        -r | --read | -o | --output | -w | --write | --junit)
            _filedir
            return
            ;;
        --rules)
            _filedir json
            return
            ;;
        --format)
            if ((check)); then
                COMPREPLY=($(compgen -W 'text json' -- "$cur"))
            else
                COMPREPLY=($(compgen -W 'text json ndjson markdown' -- "$cur"))
            fi
            return
            ;;
        --follow-format)
            COMPREPLY=($(compgen -W 'ascii hex raw' -- "$cur"))
            return
            ;;
        --color)
            COMPREPLY=($(compgen -W 'auto always never' -- "$cur"))
            return
            ;;
        --annotations)
            COMPREPLY=($(compgen -W 'github none' -- "$cur"))
            return
            ;;
        --fail-on-severity)
            COMPREPLY=($(compgen -W 'warning error' -- "$cur"))
            return
            ;;
        --fail-on | --allow)
            local prefix=""
            [[ $cur == *,* ]] && prefix=${cur%,*},
            COMPREPLY=($(compgen -P "$prefix" -W "$(_pcaplens_kinds)" -- "${cur##*,}"))
            return
            ;;
        -i | --interface)
            COMPREPLY=($(compgen -W "$(pcaplens -D 2>/dev/null | sed -n 's/^[0-9]*\.\([^ ]*\).*/\1/p')" -- "$cur"))
            return
            ;;
        -Z | --relinquish-privileges)
            COMPREPLY=($(compgen -u -- "$cur"))
            return
            ;;
        -f | --filter | -c | --count | --conn | --host | --port | --follow | --idle-timeout | --msl | \
            --close-linger | --max-* | --http-max-* | --http-slow-ms | -s | --snapshot-length | \
            -B | --buffer-size | --duration | -C | --file-size | --server | --server-port | \
            --http-host | --http-uri-prefix | --http-method | --http-allow-status | \
            --expect-transactions | --max)
            return
            ;;
    esac

    if [[ $cur == -* ]]; then
        if ((check)); then
            COMPREPLY=($(compgen -W "$check_opts" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$report_opts" -- "$cur"))
        fi
        return
    fi
    if ((!check)) && ((cword == 1)); then
        COMPREPLY=($(compgen -W 'check' -- "$cur"))
    fi
    _filedir '@(pcap|pcapng|cap|pcap[0-9]*)'
    # Rotated files named FILE1, FILE2... (tcpdump -C) and files without a
    # capture extension are captures too: offer every file when nothing matched.
    ((${#COMPREPLY[@]} == 0)) && _filedir
} && complete -F _pcaplens pcaplens

# ex: filetype=sh
