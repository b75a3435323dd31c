import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import LatchkeyCore
import SystemSupport

/// Profile names for shell completion: read from the config files only (fast, no keyring).
let profileCompletion = CompletionKind.custom { _, _, prefix in
    let environment = ProcessInfo.processInfo.environment
    return completionProfileNames(environment: environment).filter { $0.hasPrefix(prefix) }
}

struct ShellInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shell-init",
        abstract: "Print shell code for your rc file: completion, and a prompt segment showing the session.",
        discussion: """
            bash:  eval "$(latchkey shell-init bash)"     in ~/.bashrc
            zsh:   eval "$(latchkey shell-init zsh)"      in ~/.zshrc
            fish:  latchkey shell-init fish | source      in ~/.config/fish/config.fish
            Inside `latchkey exec`, the prompt then starts with the profile and the time the session \
            has left, in red when under 10 minutes. Only environment variables are read: drawing the \
            prompt never runs latchkey.
            """)

    @Argument(help: "bash, zsh or fish.")
    var shell: String

    func run() throws {
        switch shell {
        case "bash":
            Runtime.print(LatchkeyCommand.completionScript(for: .bash))
            Runtime.print(
                #"""
                __latchkey_ps1() {
                    [ -n "$AWS_VAULT" ] || return 0
                    local left="" colour="33"
                    if [ -n "$LATCHKEY_SESSION_EXPIRES" ]; then
                        local s=$(( LATCHKEY_SESSION_EXPIRES - $(date +%s) ))
                        if [ "$s" -le 0 ]; then left=" expired"; colour="31"
                        elif [ "$s" -lt 600 ]; then left=" $((s / 60))m"; colour="31"
                        else left=" $((s / 3600))h$(( (s % 3600) / 60 ))m"; fi
                    fi
                    printf '\001\033[%sm\002(aws:%s%s)\001\033[0m\002 ' "$colour" "$AWS_VAULT" "$left"
                }
                case "$PS1" in *__latchkey_ps1*) ;; *) PS1='$(__latchkey_ps1)'"$PS1" ;; esac
                """#)
        case "zsh":
            // The completion needs compinit; most setups load it already.
            Runtime.print("(( $+functions[compdef] )) || { autoload -Uz compinit && compinit -i; }")
            Runtime.print(LatchkeyCommand.completionScript(for: .zsh))
            Runtime.print(
                #"""
                __latchkey_ps1() {
                    [[ -n "$AWS_VAULT" ]] || return 0
                    local left="" colour="yellow"
                    if [[ -n "$LATCHKEY_SESSION_EXPIRES" ]]; then
                        local s=$(( LATCHKEY_SESSION_EXPIRES - $(date +%s) ))
                        if (( s <= 0 )); then left=" expired"; colour="red"
                        elif (( s < 600 )); then left=" $((s / 60))m"; colour="red"
                        else left=" $((s / 3600))h$(( (s % 3600) / 60 ))m"; fi
                    fi
                    print -n "%F{$colour}(aws:$AWS_VAULT$left)%f "
                }
                setopt PROMPT_SUBST
                [[ "$PROMPT" == *__latchkey_ps1* ]] || PROMPT='$(__latchkey_ps1)'"$PROMPT"
                """#)
        case "fish":
            Runtime.print(LatchkeyCommand.completionScript(for: .fish))
            Runtime.print(
                #"""
                function __latchkey_segment
                    test -n "$AWS_VAULT"; or return
                    set -l left ""
                    set -l colour yellow
                    if test -n "$LATCHKEY_SESSION_EXPIRES"
                        set -l s (math $LATCHKEY_SESSION_EXPIRES - (date +%s))
                        if test $s -le 0; set left " expired"; set colour red
                        else if test $s -lt 600; set left " "(math --scale=0 $s / 60)"m"; set colour red
                        else; set left " "(math --scale=0 $s / 3600)"h"(math --scale=0 "($s % 3600) / 60")"m"; end
                    end
                    set_color $colour; echo -n "(aws:$AWS_VAULT$left) "; set_color normal
                end
                if not functions -q __latchkey_original_prompt
                    functions -c fish_prompt __latchkey_original_prompt
                    function fish_prompt; __latchkey_segment; __latchkey_original_prompt; end
                end
                """#)
        default:
            throw CLIError("unknown shell '\(shell)'; latchkey knows bash, zsh and fish.")
        }
    }
}

/// The command `exec` runs when none is given: `$SHELL`, with `(aws:PROFILE)` in front of the
/// user's own prompt (after their rc files ran), unless LATCHKEY_SHELL_MARKER=0.
func interactiveShell(profile: String, environment: inout [String: String]) -> [String] {
    let shell = nonEmpty(environment["SHELL"]) ?? "/bin/sh"
    guard environment["LATCHKEY_SHELL_MARKER"] != "0" else { return [shell] }
    let marker = "(aws:\(profile)) "
    let name = URL(fileURLWithPath: shell).lastPathComponent
    let home = UserFolders(environment: environment).home
    guard let runtime = privateRuntimeFolder else { return [shell] }
    switch name {
    case "bash":
        let rc = runtime + "/bashrc"
        let text = """
            [ -f "$HOME/.bashrc" ] && . "$HOME/.bashrc"
            PS1="\\[\\e[33m\\](aws:${AWS_VAULT})\\[\\e[0m\\] $PS1"

            """
        guard (try? PrivateFile.write(Data(text.utf8), to: rc)) != nil else { return [shell] }
        return [shell, "--rcfile", rc, "-i"]
    case "zsh":
        let folder = runtime + "/zdotdir"
        let original = environment["ZDOTDIR"] ?? home
        guard (try? PrivateFolder.prepare(folder)) != nil else { return [shell] }
        var files = [".zshenv", ".zprofile", ".zlogin"].map { file in
            (file, "[ -f \"$LATCHKEY_ZDOTDIR/\(file)\" ] && . \"$LATCHKEY_ZDOTDIR/\(file)\"\n")
        }
        files.append(
            (
                ".zshrc",
                """
                [ -f "$LATCHKEY_ZDOTDIR/.zshrc" ] && . "$LATCHKEY_ZDOTDIR/.zshrc"
                PROMPT="%F{yellow}(aws:${AWS_VAULT})%f $PROMPT"
                ZDOTDIR="$LATCHKEY_ZDOTDIR"

                """
            ))
        let written = files.allSatisfy { file, text in
            (try? PrivateFile.write(Data(text.utf8), to: folder + "/" + file)) != nil
        }
        guard written else { return [shell] }
        environment["LATCHKEY_ZDOTDIR"] = original
        environment["ZDOTDIR"] = folder
        return [shell]
    case "fish":
        return [
            shell, "--init-command",
            "functions -c fish_prompt __latchkey_original_prompt; function fish_prompt; set_color yellow; "
                + "echo -n '\(marker)'; set_color normal; __latchkey_original_prompt; end",
        ]
    default:
        environment["PS1"] = marker + (environment["PS1"] ?? "$ ")
        return [shell]
    }
}
