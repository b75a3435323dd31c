#include "CSecretService.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

// The few glib types this file touches, declared by their stable ABI so no glib header is needed.
typedef struct GList {
    void *data;
    struct GList *next;
    struct GList *prev;
} GList;
typedef struct GError {
    uint32_t domain;
    int code;
    char *message;
} GError;
typedef void GHashTable;
typedef unsigned (*GHashFunc)(const void *);
typedef int (*GEqualFunc)(const void *, const void *);
typedef void (*GDestroyNotify)(void *);

enum {
    SERVICE_OPEN_SESSION = 1 << 1,
    SERVICE_LOAD_COLLECTIONS = 1 << 2,
    SEARCH_ALL = 1 << 1,
    SEARCH_LOAD_SECRETS = 1 << 3,
};

static struct {
    int loaded;
    void *(*service_get_sync)(int, void *, GError **);
    GList *(*service_get_collections)(void *);
    int (*service_unlock_sync)(void *, GList *, void *, GList **, GError **);
    int (*service_lock_sync)(void *, GList *, void *, GList **, GError **);
    void *(*collection_create_sync)(void *, const char *, const char *, int, void *, GError **);
    void *(*collection_for_alias_sync)(void *, const char *, int, void *, GError **);
    char *(*collection_get_label)(void *);
    int (*collection_get_locked)(void *);
    GList *(*collection_search_sync)(void *, const void *, GHashTable *, int, void *, GError **);
    void *(*item_create_sync)(void *, const void *, GHashTable *, const char *, void *, int, void *,
                              GError **);
    char *(*item_get_label)(void *);
    GHashTable *(*item_get_attributes)(void *);
    uint64_t (*item_get_modified)(void *);
    void *(*item_get_secret)(void *);
    int (*item_delete_sync)(void *, void *, GError **);
    void *(*value_new)(const char *, ssize_t, const char *);
    const char *(*value_get)(void *, size_t *);
    void (*value_unref)(void *);
    const char *(*proxy_get_object_path)(void *);
    GHashTable *(*hash_table_new_full)(GHashFunc, GEqualFunc, GDestroyNotify, GDestroyNotify);
    void (*hash_table_insert)(GHashTable *, void *, void *);
    void *(*hash_table_lookup)(GHashTable *, const void *);
    GList *(*hash_table_get_keys)(GHashTable *);
    void (*hash_table_unref)(GHashTable *);
    GHashFunc str_hash;
    GEqualFunc str_equal;
    GList *(*list_append)(GList *, void *);
    void (*list_free)(GList *);
    void (*object_unref)(void *);
    void (*error_free)(GError *);
    void (*g_free)(void *);
} lib;

typedef struct {
    void *service;
    void *collection;
} handle_t;

static int fail(char **message, int code, const char *text, GError *error) {
    if (message) {
        const char *detail = error && error->message ? error->message : "";
        size_t length = strlen(text) + strlen(detail) + 4;
        *message = malloc(length);
        if (*message) snprintf(*message, length, "%s%s%s", text, *detail ? ": " : "", detail);
    }
    if (error && lib.error_free) lib.error_free(error);
    return code;
}

#define LOAD(field, name)                                                                    \
    do {                                                                                     \
        *(void **)(&lib.field) = dlsym(library, name);                                       \
        if (!lib.field) return fail(message, LATCHKEY_SS_UNAVAILABLE, "libsecret lacks " name, 0); \
    } while (0)

int latchkey_ss_load(char **message) {
    if (lib.loaded) return 0;
    void *library = dlopen("libsecret-1.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        return fail(message, LATCHKEY_SS_UNAVAILABLE,
                    "libsecret-1.so.0 is not installed (apt install libsecret-1-0)", 0);
    }
    LOAD(service_get_sync, "secret_service_get_sync");
    LOAD(service_get_collections, "secret_service_get_collections");
    LOAD(service_unlock_sync, "secret_service_unlock_sync");
    LOAD(service_lock_sync, "secret_service_lock_sync");
    LOAD(collection_create_sync, "secret_collection_create_sync");
    LOAD(collection_for_alias_sync, "secret_collection_for_alias_sync");
    LOAD(collection_get_label, "secret_collection_get_label");
    LOAD(collection_get_locked, "secret_collection_get_locked");
    LOAD(collection_search_sync, "secret_collection_search_sync");
    LOAD(item_create_sync, "secret_item_create_sync");
    LOAD(item_get_label, "secret_item_get_label");
    LOAD(item_get_attributes, "secret_item_get_attributes");
    LOAD(item_get_modified, "secret_item_get_modified");
    LOAD(item_get_secret, "secret_item_get_secret");
    LOAD(item_delete_sync, "secret_item_delete_sync");
    LOAD(value_new, "secret_value_new");
    LOAD(value_get, "secret_value_get");
    LOAD(value_unref, "secret_value_unref");
    LOAD(proxy_get_object_path, "g_dbus_proxy_get_object_path");
    LOAD(hash_table_new_full, "g_hash_table_new_full");
    LOAD(hash_table_insert, "g_hash_table_insert");
    LOAD(hash_table_lookup, "g_hash_table_lookup");
    LOAD(hash_table_get_keys, "g_hash_table_get_keys");
    LOAD(hash_table_unref, "g_hash_table_unref");
    LOAD(str_hash, "g_str_hash");
    LOAD(str_equal, "g_str_equal");
    LOAD(list_append, "g_list_append");
    LOAD(list_free, "g_list_free");
    LOAD(object_unref, "g_object_unref");
    LOAD(error_free, "g_error_free");
    LOAD(g_free, "g_free");
    lib.loaded = 1;
    return 0;
}

static void unref_all(GList *list) {
    for (GList *node = list; node; node = node->next) lib.object_unref(node->data);
    lib.list_free(list);
}

/// Does the collection's label, or the last part of its object path, equal `name`?
static int collection_matches(void *collection, const char *name) {
    char *label = lib.collection_get_label(collection);
    int same = label && strcmp(label, name) == 0;
    lib.g_free(label);
    if (same) return 1;
    const char *path = lib.proxy_get_object_path(collection);
    const char *last = path ? strrchr(path, '/') : NULL;
    return last && strcmp(last + 1, name) == 0;
}

static int unlock(handle_t *handle, int allow_prompt, char **message) {
    if (!lib.collection_get_locked(handle->collection)) return 0;
    // Without a desktop the unlock prompt would wait forever: say so instead.
    if (!allow_prompt) return fail(message, LATCHKEY_SS_LOCKED, "no desktop session to show the unlock prompt", 0);
    GList *objects = lib.list_append(NULL, handle->collection);
    GList *unlocked = NULL;
    GError *error = NULL;
    lib.service_unlock_sync(handle->service, objects, NULL, &unlocked, &error);
    lib.list_free(objects);
    if (unlocked) unref_all(unlocked);
    if (error || lib.collection_get_locked(handle->collection)) {
        return fail(message, LATCHKEY_SS_LOCKED, "the unlock prompt was dismissed or cannot be shown",
                    error);
    }
    return 0;
}

int latchkey_ss_probe(char **message) {
    int loaded = latchkey_ss_load(message);
    if (loaded) return loaded;
    GError *error = NULL;
    void *service = lib.service_get_sync(0, NULL, &error);
    if (!service) {
        return fail(message, LATCHKEY_SS_NO_SERVICE, "no Secret Service answers on the session bus", error);
    }
    lib.object_unref(service);
    return 0;
}

int latchkey_ss_open(const char *collection, int create, int allow_prompt, void **out, char **message) {
    *out = NULL;
    int loaded = latchkey_ss_load(message);
    if (loaded) return loaded;
    GError *error = NULL;
    handle_t handle = {0};
    handle.service = lib.service_get_sync(SERVICE_OPEN_SESSION | SERVICE_LOAD_COLLECTIONS, NULL, &error);
    if (!handle.service) {
        return fail(message, LATCHKEY_SS_NO_SERVICE, "no Secret Service answers on the session bus", error);
    }
    if (strcmp(collection, "default") == 0) {
        handle.collection = lib.collection_for_alias_sync(handle.service, "default", 0, NULL, &error);
        if (error) {
            lib.object_unref(handle.service);
            return fail(message, LATCHKEY_SS_FAILED, "cannot open the default collection", error);
        }
    } else {
        GList *collections = lib.service_get_collections(handle.service);
        for (GList *node = collections; node; node = node->next) {
            if (!handle.collection && collection_matches(node->data, collection)) {
                handle.collection = node->data;
            } else {
                lib.object_unref(node->data);
            }
        }
        lib.list_free(collections);
        if (!handle.collection && create && !allow_prompt) {
            lib.object_unref(handle.service);
            return fail(message, LATCHKEY_SS_NO_COLLECTION,
                        "does not exist and no desktop session can prompt for a new collection's password", 0);
        }
        if (!handle.collection && create) {
            handle.collection =
                lib.collection_create_sync(handle.service, collection, NULL, 0, NULL, &error);
            if (!handle.collection) {
                lib.object_unref(handle.service);
                return fail(message, LATCHKEY_SS_FAILED, "cannot create the collection", error);
            }
        }
    }
    if (!handle.collection) {
        lib.object_unref(handle.service);
        return fail(message, LATCHKEY_SS_NO_COLLECTION, "does not exist", 0);
    }
    int unlocked = unlock(&handle, allow_prompt, message);
    if (unlocked) {
        lib.object_unref(handle.collection);
        lib.object_unref(handle.service);
        return unlocked;
    }
    handle_t *copy = malloc(sizeof handle);
    if (!copy) return fail(message, LATCHKEY_SS_FAILED, "out of memory", 0);
    *copy = handle;
    *out = copy;
    return 0;
}

void latchkey_ss_close(void *opaque) {
    handle_t *handle = opaque;
    if (!handle) return;
    lib.object_unref(handle->collection);
    lib.object_unref(handle->service);
    free(handle);
}

static GHashTable *attributes_table(void) {
    return lib.hash_table_new_full(lib.str_hash, lib.str_equal, NULL, NULL);
}

static GList *search(handle_t *handle, const char *const *names, const char *const *values, size_t count,
                     int secrets, GError **error) {
    GHashTable *attributes = attributes_table();
    for (size_t index = 0; index < count; index++) {
        lib.hash_table_insert(attributes, (void *)names[index], (void *)values[index]);
    }
    GList *found = lib.collection_search_sync(handle->collection, NULL, attributes,
                                              SEARCH_ALL | (secrets ? SEARCH_LOAD_SECRETS : 0), NULL, error);
    lib.hash_table_unref(attributes);
    return found;
}

static char *copy_string(const char *text) { return strdup(text ? text : ""); }

int latchkey_ss_search(void *opaque, const char *const *names, const char *const *values,
                       size_t match_count, int load_secrets, latchkey_ss_item **items, size_t *count,
                       char **message) {
    handle_t *handle = opaque;
    *items = NULL;
    *count = 0;
    GError *error = NULL;
    GList *found = search(handle, names, values, match_count, load_secrets, &error);
    if (error) return fail(message, LATCHKEY_SS_FAILED, "the search failed", error);
    size_t total = 0;
    for (GList *node = found; node; node = node->next) total++;
    latchkey_ss_item *result = calloc(total ? total : 1, sizeof *result);
    size_t index = 0;
    for (GList *node = found; node && result; node = node->next, index++) {
        void *item = node->data;
        latchkey_ss_item *out = &result[index];
        char *label = lib.item_get_label(item);
        out->label = copy_string(label);
        lib.g_free(label);
        out->path = copy_string(lib.proxy_get_object_path(item));
        out->modified = lib.item_get_modified(item);
        GHashTable *attributes = lib.item_get_attributes(item);
        GList *keys = attributes ? lib.hash_table_get_keys(attributes) : NULL;
        size_t attribute_count = 0;
        for (GList *key = keys; key; key = key->next) attribute_count++;
        out->attribute_names = calloc(attribute_count + 1, sizeof(char *));
        out->attribute_values = calloc(attribute_count + 1, sizeof(char *));
        size_t at = 0;
        for (GList *key = keys; key && out->attribute_names && out->attribute_values; key = key->next, at++) {
            out->attribute_names[at] = copy_string(key->data);
            out->attribute_values[at] = copy_string(lib.hash_table_lookup(attributes, key->data));
        }
        out->attribute_count = out->attribute_names && out->attribute_values ? attribute_count : 0;
        if (keys) lib.list_free(keys);
        if (attributes) lib.hash_table_unref(attributes);
        if (load_secrets) {
            void *secret = lib.item_get_secret(item);
            if (secret) {
                size_t length = 0;
                const char *bytes = lib.value_get(secret, &length);
                out->secret = malloc(length ? length : 1);
                if (out->secret && bytes) memcpy(out->secret, bytes, length);
                out->secret_length = out->secret ? length : 0;
                lib.value_unref(secret);
            }
        }
    }
    unref_all(found);
    if (!result) return fail(message, LATCHKEY_SS_FAILED, "out of memory", 0);
    *items = result;
    *count = total;
    return 0;
}

void latchkey_ss_free_items(latchkey_ss_item *items, size_t count) {
    if (!items) return;
    for (size_t index = 0; index < count; index++) {
        latchkey_ss_item *item = &items[index];
        free(item->label);
        free(item->path);
        for (size_t at = 0; at < item->attribute_count; at++) {
            free(item->attribute_names[at]);
            free(item->attribute_values[at]);
        }
        free(item->attribute_names);
        free(item->attribute_values);
        if (item->secret) memset(item->secret, 0, item->secret_length);
        free(item->secret);
    }
    free(items);
}

int latchkey_ss_store(void *opaque, const char *label, const char *const *names,
                      const char *const *values, size_t count, size_t match_count,
                      const void *secret, size_t secret_length, char **message) {
    handle_t *handle = opaque;
    GError *error = NULL;
    GList *previous = search(handle, names, values, match_count < count ? match_count : count, 0, &error);
    if (error) return fail(message, LATCHKEY_SS_FAILED, "the search failed", error);

    GHashTable *attributes = attributes_table();
    for (size_t index = 0; index < count; index++) {
        lib.hash_table_insert(attributes, (void *)names[index], (void *)values[index]);
    }
    void *value = lib.value_new(secret, (ssize_t)secret_length, "application/octet-stream");
    void *created = lib.item_create_sync(handle->collection, NULL, attributes, label, value, 0, NULL, &error);
    lib.value_unref(value);
    lib.hash_table_unref(attributes);
    if (!created) {
        unref_all(previous);
        return fail(message, LATCHKEY_SS_FAILED, "cannot create the item", error);
    }
    const char *created_path = lib.proxy_get_object_path(created);
    for (GList *node = previous; node; node = node->next) {
        const char *path = lib.proxy_get_object_path(node->data);
        if (path && created_path && strcmp(path, created_path) == 0) continue;
        GError *ignored = NULL;
        lib.item_delete_sync(node->data, NULL, &ignored);  // already gone is fine
        if (ignored) lib.error_free(ignored);
    }
    lib.object_unref(created);
    unref_all(previous);
    return 0;
}

int latchkey_ss_delete(void *opaque, const char *const *names, const char *const *values,
                       size_t count, size_t *deleted, char **message) {
    handle_t *handle = opaque;
    *deleted = 0;
    GError *error = NULL;
    GList *found = search(handle, names, values, count, 0, &error);
    if (error) return fail(message, LATCHKEY_SS_FAILED, "the search failed", error);
    for (GList *node = found; node; node = node->next) {
        GError *failed = NULL;
        if (lib.item_delete_sync(node->data, NULL, &failed)) {
            (*deleted)++;
        } else if (failed) {
            lib.error_free(failed);
        }
    }
    unref_all(found);
    return 0;
}

int latchkey_ss_lock(void *opaque, char **message) {
    handle_t *handle = opaque;
    GList *objects = lib.list_append(NULL, handle->collection);
    GList *locked = NULL;
    GError *error = NULL;
    lib.service_lock_sync(handle->service, objects, NULL, &locked, &error);
    lib.list_free(objects);
    if (locked) unref_all(locked);
    if (error) return fail(message, LATCHKEY_SS_FAILED, "cannot lock the collection", error);
    return 0;
}

void latchkey_ss_free(void *pointer) { free(pointer); }
