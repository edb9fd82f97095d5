"""Permissive stand-ins for the heavy modules vLLM's metric code imports.

``install(real_prefixes)`` puts a finder at the front of ``sys.meta_path`` that
answers every import outside the standard library, the ``vllm`` package and the
few real dependencies with a stub module.  Attributes of a stub module are
``Stub`` objects: callable, subscriptable, iterable as empty, usable as base
classes, decorators, context managers and in ``X | None`` annotations.
"""

import abc
import importlib.abc
import importlib.machinery
import sys
import types


class _StubMeta(abc.ABCMeta):
    """Metaclass of classes derived from a stub: class attributes are stubs too."""

    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Stub(f"{cls.__name__}.{name}")

    def __or__(cls, other):
        return Stub("union")

    __ror__ = __or__

    def __getitem__(cls, item):
        return cls


def _any_schema(*args):
    from pydantic_core import core_schema
    return core_schema.any_schema()


class StubBase(metaclass=_StubMeta):
    """Base class used wherever a stub is subclassed."""

    __get_pydantic_core_schema__ = classmethod(_any_schema)

    def __init_subclass__(cls, **kwargs):
        pass

    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Stub(name)


class Stub:
    """A do-nothing object that tolerates almost any use."""

    def __init__(self, name="stub"):
        self._name = name

    def __get_pydantic_core_schema__(self, *args):  # usable in pydantic annotations
        return _any_schema()

    def __repr__(self):
        return f"<stub {self._name}>"

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return Stub(f"{self._name}.{name}")

    def __call__(self, *args, **kwargs):
        # Used as a bare decorator: give the decorated object back.
        if len(args) == 1 and not kwargs and isinstance(args[0], type):
            return args[0]
        if len(args) == 1 and not kwargs and isinstance(args[0], types.FunctionType):
            return Decorated(args[0])
        return Stub(f"{self._name}()")

    def __getitem__(self, item):
        return Stub(f"{self._name}[]")

    def __instancecheck__(self, obj):
        return False

    def __subclasscheck__(self, cls):
        return False

    def __mro_entries__(self, bases):
        return (StubBase,)

    def __iter__(self):
        return iter(())

    def __len__(self):
        return 0

    def __bool__(self):
        return False

    def __int__(self):
        return 0

    def __index__(self):
        return 0

    def __float__(self):
        return 0.0

    def __contains__(self, item):
        return False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __or__(self, other):
        return Stub("union")

    __ror__ = __or__

    def _arith(self, *other):
        return Stub(f"{self._name}(op)")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _arith
    __truediv__ = __rtruediv__ = __floordiv__ = __mod__ = __pow__ = __neg__ = _arith
    __and__ = __rand__ = __xor__ = _arith

    def __eq__(self, other):
        return isinstance(other, Stub)  # two stand-ins for the same thing agree

    def __hash__(self):
        return id(self)

    def __lt__(self, other):
        return False

    __le__ = __gt__ = __ge__ = __lt__


class Decorated:
    """A function decorated by a stub: still callable, with stub attributes
    (e.g. ``@custom_op(...)`` then ``@f.register_fake``)."""

    def __init__(self, function):
        self.__wrapped__ = function
        self.__name__ = function.__name__
        self.__doc__ = function.__doc__

    def __call__(self, *args, **kwargs):
        return self.__wrapped__(*args, **kwargs)

    def __get__(self, obj, objtype=None):
        return self if obj is None else types.MethodType(self, obj)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Stub(f"{self.__name__}.{name}")


class StubModule(types.ModuleType):
    """A module whose every missing attribute is a Stub."""

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        value = Stub(f"{self.__name__}.{name}")
        setattr(self, name, value)
        return value


class _StubLoader(importlib.abc.Loader):
    def create_module(self, spec):
        module = StubModule(spec.name)
        module.__path__ = []
        module.__version__ = "99.0.0"  # newer than any version check asks for
        return module

    def exec_module(self, module):
        pass


class _StubFinder(importlib.abc.MetaPathFinder):
    def __init__(self, real_prefixes, blocked, stubbed):
        self.real = tuple(real_prefixes)
        self.blocked = set(blocked)
        self.stubbed = tuple(stubbed)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.blocked:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        if any(fullname == p or fullname.startswith(p + ".") for p in self.stubbed):
            return importlib.machinery.ModuleSpec(fullname, _StubLoader(), is_package=True)
        top = fullname.split(".")[0]
        if top in sys.stdlib_module_names or top == "vllm" or top in self.real:
            return None
        return importlib.machinery.ModuleSpec(fullname, _StubLoader(), is_package=True)


def install(real_prefixes, blocked=(), stubbed=()):
    """Serve stubs for every import except the stdlib, vllm and real_prefixes; the
    top-level modules in blocked fail to import, as if not installed; the modules
    under stubbed (parts of vllm) are stubs too."""
    sys.meta_path.insert(0, _StubFinder(real_prefixes, blocked, stubbed))
