# Whether an object of a Python subclass still has its Cython base class's method: the order
# path calls such methods (the store's log_sent, the connection's write, the gateway's _feed) as
# C functions, and a subclass or a test that replaces one must still be honoured. A cpdef call
# asks the instance on every call (~300 instructions); this asks the type once and then only
# compares its version tag, which Python changes whenever the type or a base is modified.
from cpython.object cimport PyObject


cdef extern from *:
    """
    static inline void* fx_type_of(PyObject* o) { return (void*)Py_TYPE(o); }
    static inline unsigned int fx_type_version(PyObject* o) {
        PyTypeObject* t = Py_TYPE(o);
        return (t->tp_flags & Py_TPFLAGS_VALID_VERSION_TAG) ? t->tp_version_tag : 0;
    }
    """
    void* fx_type_of(PyObject* o)
    unsigned int fx_type_version(PyObject* o)


cdef struct OverrideCheck:
    void* type                   # the type last found to keep the method (NULL: none)
    unsigned int version         # its version tag then (0: not valid, ask again)


cdef inline bint keeps_method(OverrideCheck* c, object obj, str name, object base_method):
    """True when type(obj).<name> is base_method (the base class's own, as getattr gives it)."""
    cdef void* t = fx_type_of(<PyObject*>obj)
    cdef unsigned int v = fx_type_version(<PyObject*>obj)
    if t == c.type and v != 0 and v == c.version:
        return True
    if getattr(type(obj), name) is base_method:
        c.type = t
        c.version = fx_type_version(<PyObject*>obj)     # valid after the look-up
        return True
    c.type = NULL
    return False
