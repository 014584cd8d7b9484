import os
import os.path as osp
import shutil

from setuptools import find_packages, setup

ROOT = osp.dirname(osp.abspath(__file__))
# Shipped inside the package the way OpenMMLab packages do it, so that
# `mim train mmstablekd ...` and `mmstablekd/.mim/configs/...` work after
# install.
MIM_FOLDERS = ('configs', 'tools')


def add_mim_extension():
    """Link (develop) or copy (build) configs/ and tools/ into
    mmstablekd/.mim."""
    import sys
    develop = 'develop' in sys.argv or any('editable' in a for a in sys.argv)
    mim_root = osp.join(ROOT, 'mmstablekd', '.mim')
    os.makedirs(mim_root, exist_ok=True)
    for name in MIM_FOLDERS:
        src, dst = osp.join(ROOT, name), osp.join(mim_root, name)
        if not osp.exists(src):
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if develop:
            os.symlink(osp.relpath(src, mim_root), dst)
        else:
            shutil.copytree(src, dst)


def read_requirements(name):
    with open(osp.join(ROOT, 'requirements', name)) as f:
        return [
            line.strip() for line in f
            if line.strip() and not line.startswith('#')
        ]


def read_version():
    scope = {}
    with open(osp.join(ROOT, 'mmstablekd', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmstablekd',
        version=read_version(),
        description='StableKD block-wise knowledge distillation for '
        'OpenMMLab (MMPretrain, MMDetection)',
        packages=find_packages(exclude=('configs', 'tools', 'tests')),
        include_package_data=True,
        package_data={'mmstablekd': ['.mim/configs/**/*', '.mim/tools/**/*']},
        python_requires='>=3.8',
        install_requires=read_requirements('runtime.txt'),
        extras_require={'tests': read_requirements('tests.txt')},
        zip_safe=False)
