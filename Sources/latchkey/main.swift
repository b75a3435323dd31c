import LatchkeyCLI

await runLatchkey()
