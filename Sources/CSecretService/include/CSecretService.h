#ifndef CSECRETSERVICE_H
#define CSECRETSERVICE_H
// A small synchronous API over libsecret (the freedesktop Secret Service), loaded with dlopen on
// first use: the binary has no link-time dependency on libsecret, glib or gio.
// Every function returns 0 or a negative LATCHKEY_SS_* code; `*message` (when not NULL) is then a
// malloc'ed explanation the caller frees with latchkey_ss_free. Calls are not thread-safe: the
// caller serialises them.
#include <stddef.h>
#include <stdint.h>

#define LATCHKEY_SS_UNAVAILABLE (-1)   // libsecret-1.so.0 (or a symbol) cannot be loaded
#define LATCHKEY_SS_NO_SERVICE (-2)    // no session bus, or no Secret Service on it
#define LATCHKEY_SS_LOCKED (-3)        // the collection is locked and was not unlocked
#define LATCHKEY_SS_NO_COLLECTION (-4) // the collection does not exist (and was not to be created)
#define LATCHKEY_SS_FAILED (-5)        // any other D-Bus or service error

typedef struct latchkey_ss_item {
    char *label;
    char *path;                 // the item's D-Bus object path
    size_t attribute_count;
    char **attribute_names;
    char **attribute_values;
    uint8_t *secret;            // NULL unless secrets were asked for
    size_t secret_length;
    uint64_t modified;          // seconds since 1970
} latchkey_ss_item;

/// Loads libsecret; 0 when it is usable.
int latchkey_ss_load(char **message);
/// Connects to the Secret Service without opening any collection (no prompt): 0 when it answers.
int latchkey_ss_probe(char **message);
/// Opens the collection whose label (or object path name) is `collection`; "default" means the
/// default alias. With `create` a missing collection is created (the desktop may prompt). A locked
/// collection is unlocked (the desktop prompts) or LATCHKEY_SS_LOCKED is returned.
int latchkey_ss_open(const char *collection, int create, int allow_prompt, void **handle,
                     char **message);
void latchkey_ss_close(void *handle);
/// Items whose attributes include all `count` name=value pairs (all items when `count` is 0).
int latchkey_ss_search(void *handle, const char *const *names, const char *const *values,
                       size_t match_count, int load_secrets,
                       latchkey_ss_item **items, size_t *count, char **message);
void latchkey_ss_free_items(latchkey_ss_item *items, size_t count);
/// Creates an item, then deletes the items that matched its first `match_count` attributes before
/// (never losing the old one before the new one exists).
int latchkey_ss_store(void *handle, const char *label, const char *const *names,
                      const char *const *values, size_t count, size_t match_count,
                      const void *secret, size_t secret_length, char **message);
/// Deletes the items that match all `count` name=value pairs; `*deleted` counts them.
int latchkey_ss_delete(void *handle, const char *const *names, const char *const *values,
                       size_t count, size_t *deleted, char **message);
/// Locks the collection (used by tests and `latchkey backends --lock`).
int latchkey_ss_lock(void *handle, char **message);
void latchkey_ss_free(void *pointer);

#endif
