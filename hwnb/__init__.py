__version__ = "0.1.0"


def local(root='/', gpus:bool=True):
    "Detect this machine (a `hwnb.detect.Machine`; `.catalog` is its catalog `Hardware`, when there is one): `hwnb.detect.detect`."
    from .detect import detect
    return detect(root, gpus)
