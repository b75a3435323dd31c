import LatchkeyCLI

// Not `await runLatchkey()`: an async main starts the concurrency runtime's threads before its
// first line, and `latchkey --version` needs none of them (issue 16).
latchkeyMain()
